// The {{name}} component: the strategy in strategy.js, exported through the Flotilla
// JavaScript SDK (flotilla.js). build.sh turns this file into {{name}}.wasm.
import * as host from 'flotilla:bot/host@0.7.0';
import * as replay from 'flotilla:bot/replay@0.7.0';
import { exportBot } from './flotilla.js';
import { {{type}} } from './strategy.js';

export const { strategy, replayStrategy } = exportBot({{type}}, { host, replay });
