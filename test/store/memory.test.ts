// The reference store against the contract: if this fails, the contract (or memoryStore) is wrong.
import { memoryStore } from '../../src/core/store.js';
import { describeStoreContract } from './contract.js';

describeStoreContract('memoryStore', () => memoryStore());
