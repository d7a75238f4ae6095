import { describe, expect, it } from 'vitest';
import { assignTasks, decodeMemberInfo, encodeMemberInfo } from '../src/engine/assignor.ts';

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

describe('member info', () => {
  it('round-trips and tolerates garbage', () => {
    expect(decodeMemberInfo(encodeMemberInfo({ endpoint: 'host:8000', tasks: ['0_1'] }))).toEqual({ endpoint: 'host:8000', tasks: ['0_1'] });
    expect(decodeMemberInfo(Buffer.from('not json'))).toEqual({ endpoint: '', tasks: [] });
    expect(decodeMemberInfo(null)).toEqual({ endpoint: '', tasks: [] });
  });
});
