// A stage as a user writes one, loaded by tests/testing.spec.js through testing.js.
import { defineStage, log } from '../engine-stage.js';

export const { describe, run } = defineStage({
  name: 'fixture',
  run() {
    log.info('hello');
    return 'fixture';
  },
});
