import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeadershipRounds } from './leadership-rounds.js';

test('a confirmed round is dated by its first send; a round sent again keeps that date', () => {
  const rounds = new LeadershipRounds();
  rounds.sent(1, 100);
  rounds.sent(1, 150);
  rounds.sent(2, 200);
  assert.equal(rounds.sentAt(1), 100);
  assert.equal(rounds.sentAt(2), 200);
  rounds.sent(2, 250);
  assert.equal(rounds.sentAt(2), 200, 'a heartbeat of a confirmed round sent again does not move its date');
});

test('a round never sent from here, or older than the newest confirmed, has no date', () => {
  const rounds = new LeadershipRounds();
  assert.equal(rounds.sentAt(0), undefined, 'a leader with no round answered yet');
  rounds.sent(5, 100);
  rounds.sent(7, 300);
  assert.equal(rounds.sentAt(6), undefined, 'round 6 left no heartbeat here (a single voter counts its own rounds)');
  assert.equal(rounds.sentAt(7), 300);
  assert.equal(rounds.sentAt(5), undefined, 'already passed by round 7');
});

test('rounds no majority answers are forgotten past the bound, and a forgotten one gives no date', () => {
  const rounds = new LeadershipRounds(3);
  for (let round = 1; round <= 5; round++) rounds.sent(round, round * 100);
  assert.equal(rounds.sentAt(2), undefined, 'rounds 1 and 2 were forgotten');
  assert.equal(rounds.sentAt(4), 400);
  assert.equal(rounds.sentAt(5), 500);
});
