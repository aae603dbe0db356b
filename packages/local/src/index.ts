export { createLocalEngine, LocalEngine, type LocalEngineOptions, type LocalEngineStats } from './local-engine.js';
