// Host-side testing: `node --import ./.engine/sdk/js/register.js --test` makes the WIT imports
// (`engine:stage/log@0.1.0`, `engine:stage/exec@0.1.0`, `engine:stage/agent@0.1.0`) resolve to
// a fake host (fake-host.js) that tests drive through testing.js, so a stage's `app.js` and
// the SDK load in node as they do in the component.

import { register } from 'node:module';

register('./hooks.js', import.meta.url);
