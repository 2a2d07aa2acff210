// The macd_js component: the strategy in macd.js, exported through the JavaScript SDK.
import * as host from 'flotilla:bot/host@0.7.0';
import * as replay from 'flotilla:bot/replay@0.7.0';
import { exportBot } from './flotilla.js';
import { MacdBot } from './macd.js';

export const { strategy, replayStrategy } = exportBot(MacdBot, { host, replay });
