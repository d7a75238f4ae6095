import { describe, expect, it } from 'vitest';
import { emptyTally, parseRequestLine, tallyLine, total, type RequestTally } from '../bench/request-log.ts';

const line = (body: object) => `[2026-12-07 03:39:52,831] DEBUG Completed request:${JSON.stringify(body)} (kafka.request.logger)`;
const runOf = (text: string) => /\bcmp\d+-(\d+-(?:project|java))\./.exec(text)?.[1];
const topicName = (topic: string) => topic.replace(/^cmp\d+-\d+-(project|java)\./, '');

describe('the broker request log', () => {
  it('reads a completed request and ignores other lines', () => {
    expect(parseRequestLine(line({ requestHeader: { requestApiKeyName: 'FETCH' } }))?.requestHeader?.requestApiKeyName).toBe('FETCH');
    expect(parseRequestLine('[2026-12-07 03:39:52,831] INFO something else (kafka.server)')).toBeUndefined();
  });

  it('tallies requests, markers and produced bytes per run and topic, without the run prefix', () => {
    const tallies = new Map<string, RequestTally>();
    const lines = [
      line({ requestHeader: { requestApiKeyName: 'PRODUCE', clientId: 'cmp1-1-project.inventory-service-produce' }, request: { topicData: [{ name: 'cmp1-1-project.order-validations.v1', partitionData: [{ recordsSizeInBytes: 100 }, { recordsSizeInBytes: 50 }] }] } }),
      line({ requestHeader: { requestApiKeyName: 'WRITE_TXN_MARKERS', clientId: 'broker-1-txn-marker-sender' }, request: { markers: [{ topics: [{ name: 'cmp1-1-project.order-validations.v1', partitionIndexes: [0, 2] }] }] } }),
      line({ requestHeader: { requestApiKeyName: 'END_TXN', clientId: 'cmp1-2-java.inventory-service-StreamThread-1-producer' } }),
      line({ requestHeader: { requestApiKeyName: 'API_VERSIONS', clientId: 'someone-else' } }),
    ];
    for (const text of lines) tallyLine(text, runOf, tallies, topicName);
    const project = tallies.get('1-project') ?? emptyTally();
    expect(Object.fromEntries(project.requests)).toEqual({ PRODUCE: 1, WRITE_TXN_MARKERS: 1 });
    expect(project.bytes.get('order-validations.v1')).toBe(150);
    expect(project.batches.get('order-validations.v1')).toBe(2);
    expect(project.markers.get('order-validations.v1')).toBe(2);
    expect(total(tallies.get('2-java')!.requests)).toBe(1);
    expect(tallies.size).toBe(2);
  });
});
