// The rsi_js component: the strategy in rsi.js, exported through the JavaScript SDK.
import * as host from 'flotilla:bot/host@0.7.0';
import * as replay from 'flotilla:bot/replay@0.7.0';
import { exportBot } from './flotilla.js';
import { RsiBot } from './rsi.js';

export const { strategy, replayStrategy } = exportBot(RsiBot, { host, replay });
