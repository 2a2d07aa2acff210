//! Per-bot persistence: the key-value store bots write through `kv-set`, and state snapshots.

use crate::write::{UPSERT_KV, ensure_bot};
use crate::{Ledger, LedgerError};
use flotilla_domain::{BotId, Timestamp};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

impl Ledger {
    /// Stores one key outside a tick (e.g. during `init`); ticks pass theirs in the record.
    pub fn kv_set(
        &mut self,
        time: Timestamp,
        bot: &BotId,
        key: &str,
        value: &[u8],
    ) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_bot(&tx, bot, time)?;
        tx.prepare_cached(UPSERT_KV)?
            .execute(params![bot.as_str(), key, value, time.0])?;
        tx.commit()?;
        Ok(())
    }

    /// The bot's stored value for `key`.
    pub fn kv_get(&self, bot: &BotId, key: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM kv WHERE bot = ?1 AND key = ?2")?
            .query_row(params![bot.as_str(), key], |r| r.get(0))
            .optional()?)
    }

    /// Every key and value the bot stored, by key.
    pub fn kv_all(&self, bot: &BotId) -> Result<Vec<(String, Vec<u8>)>, LedgerError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, value FROM kv WHERE bot = ?1 ORDER BY key")?;
        let rows = stmt.query_map([bot.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Replaces the bot's state snapshot.
    pub fn save_state(
        &mut self,
        time: Timestamp,
        bot: &BotId,
        snapshot: &[u8],
    ) -> Result<(), LedgerError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_bot(&tx, bot, time)?;
        tx.prepare_cached(
            "INSERT INTO bot_state (bot, snapshot, updated_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (bot) DO UPDATE SET snapshot = excluded.snapshot, \
             updated_at = excluded.updated_at",
        )?
        .execute(params![bot.as_str(), snapshot, time.0])?;
        tx.commit()?;
        Ok(())
    }

    /// The bot's last saved state snapshot.
    pub fn load_state(&self, bot: &BotId) -> Result<Option<Vec<u8>>, LedgerError> {
        Ok(self
            .conn
            .prepare_cached("SELECT snapshot FROM bot_state WHERE bot = ?1")?
            .query_row([bot.as_str()], |r| r.get(0))
            .optional()?)
    }
}
