//! Errors of loading components and of calling into bots.

use std::path::PathBuf;

/// Why a component could not be loaded or instantiated.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The wasmtime engine could not be configured.
    #[error("cannot configure the WebAssembly engine: {0}")]
    Engine(String),
    /// The component file could not be read.
    #[error("cannot read component {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a valid WebAssembly component.
    #[error("{origin} is not a valid WebAssembly component: {message}")]
    Compile {
        /// Where the bytes came from.
        origin: String,
        /// What the compiler said.
        message: String,
    },
    /// The component exports no Flotilla strategy at all.
    #[error(
        "{origin} is not a Flotilla bot: it exports no `flotilla:bot/strategy` interface (exports: {exports})"
    )]
    NotABot {
        /// Where the bytes came from.
        origin: String,
        /// What it does export.
        exports: String,
    },
    /// The component was built against a contract version this host does not know.
    #[error(
        "{origin} was built for contract `{found}`, but this host runs {expected}; rebuild the bot against wit/ of this Flotilla version"
    )]
    ContractMismatch {
        /// Where the bytes came from.
        origin: String,
        /// The version the component names.
        found: String,
        /// The versions the host runs, each in backticks.
        expected: String,
    },
    /// The component needs imports the host does not provide.
    #[error("{origin} cannot be linked: {message}")]
    Link {
        /// Where the bytes came from.
        origin: String,
        /// What the linker said.
        message: String,
    },
    /// Instantiation failed (e.g. a start function trapped, or memory limits).
    #[error("cannot instantiate {origin}: {message}")]
    Instantiate {
        /// Where the bytes came from.
        origin: String,
        /// What went wrong.
        message: String,
    },
}

/// Why one call into a bot failed. Each of these fails that call only; after any but
/// [`CallError::Bot`] the instance is poisoned and must be rebuilt.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The call ran past its epoch deadline.
    #[error("deadline exceeded ({0} ms)")]
    Deadline(u64),
    /// The bot tried to grow memory past its cap.
    #[error("memory limit exceeded ({0} bytes)")]
    OutOfMemory(usize),
    /// The bot overflowed its stack.
    #[error("stack overflow")]
    StackOverflow,
    /// The bot trapped (a panic, unreachable, bad memory access...).
    #[error("trap: {0}")]
    Trap(String),
    /// The bot returned an error value; its instance stays usable.
    #[error("bot error: {0}")]
    Bot(String),
    /// An earlier failure poisoned the instance; it must be rebuilt before use.
    #[error("instance is poisoned by an earlier failure")]
    Poisoned,
}

impl CallError {
    /// A short stable name, as stored in the ledger's tick outcome.
    pub fn outcome(&self) -> &'static str {
        match self {
            CallError::Deadline(_) => "timeout",
            CallError::OutOfMemory(_) => "out_of_memory",
            CallError::StackOverflow => "stack_overflow",
            CallError::Trap(_) => "trap",
            CallError::Bot(_) => "error",
            CallError::Poisoned => "poisoned",
        }
    }
    /// Whether the instance must be dropped and rebuilt after this error.
    pub fn poisons(&self) -> bool {
        !matches!(self, CallError::Bot(_))
    }
}
