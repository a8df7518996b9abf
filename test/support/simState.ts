// The LyncSim state file for tests: its home is src/simulator.ts (the console and the demo use it too).
export * from '../../src/simulator.js';
