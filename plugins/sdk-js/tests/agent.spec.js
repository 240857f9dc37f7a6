// agent.start through the fake host: request defaults and checks, events and summaries with
// Numbers, refusals as AgentError.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fakeHost, hostRefusal } from '../testing.js';

// After testing.js, so that the SDK's WIT imports resolve to the fake host.
const { AgentError, agent } = await import('../engine-stage.js');

function fakeSession(events, summary) {
  const queue = [...events];
  return { nextEvent: () => queue.shift(), cancel() {}, finish: () => summary };
}

test('a session request gets its defaults and events come with Numbers', () => {
  fakeHost.reset({
    agent: () =>
      fakeSession(
        [
          { tag: 'session-started', val: 's1' },
          { tag: 'usage', val: { inputTokens: 10n, outputTokens: 2n, cacheReadTokens: 0n, cacheWriteTokens: 0n, costUsd: 0.01 } },
        ],
        { outcome: 'completed', resultText: 'done', turns: 2, durationMs: 1500n, usage: { inputTokens: 10n } },
      ),
  });
  const session = agent.start({ backend: 'claude', prompt: 'Fix it', model: 'smart' });
  assert.deepEqual(fakeHost.sessions[0], {
    backend: 'claude',
    model: 'smart',
    prompt: 'Fix it',
    systemPrompt: undefined,
    permissionMode: 'default',
    allowedTools: [],
    deniedTools: [],
    maxTurns: undefined,
    resumeSession: undefined,
    budgetUsd: undefined,
  });
  const events = [...session.events()];
  assert.deepEqual(events[1].val.inputTokens, 10);
  assert.equal(session.nextEvent(), null);
  const summary = session.finish();
  assert.equal(summary.durationMs, 1500);
  assert.equal(summary.usage.inputTokens, 10);
});

test('a bad request is a TypeError and a refusal an AgentError', () => {
  assert.throws(() => agent.start({ backend: 'claude' }), /"prompt" must be a non-empty string/);
  assert.throws(() => agent.start({ backend: 'claude', prompt: 'x', mode: 'plan' }), /unknown field "mode"/);
  assert.throws(() => agent.start({ backend: 'claude', prompt: 'x', permissionMode: 'yolo' }), /permissionMode must be one of/);
  fakeHost.reset({
    agent: () => {
      throw hostRefusal('unknown-backend', 'no backend "nope"');
    },
  });
  assert.throws(
    () => agent.start({ backend: 'nope', prompt: 'x' }),
    (e) => e instanceof AgentError && e.kind === 'unknown-backend' && e.message === 'cannot start the agent session: unknown-backend: no backend "nope"',
  );
});
