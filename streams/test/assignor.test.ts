import { describe, expect, it } from 'vitest';
import { assignMembers, assignTasks, decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from '../src/engine/assignor.ts';

const tasks = ['0_0', '1_0', '0_1', '1_1', '0_2', '1_2'];

describe('assignTasks', () => {
  it('balances tasks over members', () => {
    const assignment = assignTasks(tasks, [{ memberId: 'b', previous: [] }, { memberId: 'a', previous: [] }, { memberId: 'c', previous: [] }]);
    expect([...assignment.values()].map((owned) => owned.length)).toEqual([2, 2, 2]);
    expect(new Set([...assignment.values()].flat())).toEqual(new Set(tasks));
  });

  it('keeps tasks with their previous owner while that owner has room', () => {
    const assignment = assignTasks(tasks, [
      { memberId: 'a', previous: ['0_0', '1_0', '0_1', '1_1', '0_2', '1_2'] },
      { memberId: 'b', previous: [] },
    ]);
    expect(assignment.get('a')).toEqual(['0_0', '1_0', '0_1']);
    expect(assignment.get('b')).toEqual(['1_1', '0_2', '1_2']);
  });

  it('gives a lone member everything and no member nothing to do', () => {
    expect(assignTasks(tasks, [{ memberId: 'only', previous: [] }]).get('only')).toEqual(tasks);
    expect(assignTasks([], [{ memberId: 'idle', previous: [] }]).get('idle')).toEqual([]);
  });
});

describe('member info and assignments', () => {
  it('round-trip in the consumer protocol format, and tolerate garbage', () => {
    expect(decodeSubscription(encodeSubscription({ endpoint: 'host:8000', tasks: ['0_1'] }, ['orders']))).toEqual({ endpoint: 'host:8000', tasks: ['0_1'] });
    expect(decodeSubscription(Buffer.from('not a subscription'))).toEqual({ endpoint: '', tasks: [] });
  });

  it('give every member the owner of every partition of the group', () => {
    const sources = [{ subtopology: 0, topics: ['orders', 'validations'] }];
    const assignments = assignMembers(sources, new Map([['orders', 2], ['validations', 2]]), [
      { memberId: 'a', info: { endpoint: 'a:8000', tasks: [] } },
      { memberId: 'b', info: { endpoint: 'b:8000', tasks: [] } },
    ]);
    const a = decodeAssignment(encodeAssignment(assignments.get('a')!));
    const b = decodeAssignment(encodeAssignment(assignments.get('b')!));
    // Co-partitioned: a task's partition of every source topic goes to one member.
    expect(a.partitions).toEqual(new Map([['orders', [0]], ['validations', [0]]]));
    expect(b.partitions).toEqual(new Map([['orders', [1]], ['validations', [1]]]));
    for (const { owners } of [a, b]) {
      expect(owners.get('orders')).toEqual(new Map([[0, 'a:8000'], [1, 'b:8000']]));
      expect(owners.get('validations')).toEqual(new Map([[0, 'a:8000'], [1, 'b:8000']]));
    }
  });
});
