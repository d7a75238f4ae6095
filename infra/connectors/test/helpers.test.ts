import { errors } from '@elastic/elasticsearch';
import { describe, expect, it } from 'vitest';
import { decodePosition, encodePosition, isFencedError, positionKey, sourceDeadLetterHeaders } from '../src/customers-source.ts';
import { bulkItemOutcome, isTransientElasticsearchError } from '../src/elasticsearch.ts';
import { bulkOperations, deadLetterHeaders } from '../src/orders-sink.ts';

function responseError(statusCode: number): errors.ResponseError {
  return new errors.ResponseError({ body: { error: { type: 'x' } }, statusCode, headers: {}, warnings: null, meta: {} as never });
}

describe('Elasticsearch answers', () => {
  it('count unreachable, overloaded and failing servers as transient, not refusals', () => {
    expect(isTransientElasticsearchError(new errors.ConnectionError('connect ECONNREFUSED'))).toBe(true);
    expect(isTransientElasticsearchError(new errors.TimeoutError('timeout'))).toBe(true);
    expect(isTransientElasticsearchError(responseError(429))).toBe(true);
    expect(isTransientElasticsearchError(responseError(503))).toBe(true);
    expect(isTransientElasticsearchError(responseError(400))).toBe(false);
    expect(isTransientElasticsearchError(new Error('bug'))).toBe(false);
  });

  it('sort bulk items into written, superseded (replays), retry and rejected', () => {
    expect(bulkItemOutcome(201, undefined)).toBe('written');
    expect(bulkItemOutcome(200, undefined)).toBe('written');
    expect(bulkItemOutcome(404, undefined)).toBe('written'); // a delete of a missing document
    expect(bulkItemOutcome(409, 'version_conflict_engine_exception')).toBe('superseded');
    expect(bulkItemOutcome(429, 'es_rejected_execution_exception')).toBe('retry');
    expect(bulkItemOutcome(503, 'unavailable_shards_exception')).toBe('retry');
    expect(bulkItemOutcome(400, 'document_parsing_exception')).toBe('rejected');
  });
});

describe('the sink', () => {
  it('writes each record as its order document, versioned by the record offset', () => {
    const document = { id: 'o1', customerId: 1, state: 'CREATED' as const, product: 'JUMPERS' as const, quantity: 1, price: 2 };
    expect(bulkOperations('orders.v1', [{ kind: 'index', offset: '7', id: 'o1', document }, { kind: 'delete', offset: '8', id: 'o2' }])).toEqual([
      { index: { _index: 'orders.v1', _id: 'o1', version: 7, version_type: 'external' } },
      document,
      { delete: { _index: 'orders.v1', _id: 'o2', version: 8, version_type: 'external' } },
    ]);
  });

  it("dead-letters with Connect's error headers", () => {
    const error = Object.assign(new Error('expected magic byte 0'), { name: 'SerdeError' });
    expect(deadLetterHeaders({ topic: 'orders.v1', partition: 2, offset: '41' }, 'VALUE_CONVERTER', error)).toEqual({
      '__connect.errors.topic': 'orders.v1',
      '__connect.errors.partition': '2',
      '__connect.errors.offset': '41',
      '__connect.errors.connector.name': 'elasticsearch-sink-orders',
      '__connect.errors.task.id': '0',
      '__connect.errors.stage': 'VALUE_CONVERTER',
      '__connect.errors.exception.class.name': 'SerdeError',
      '__connect.errors.exception.message': 'expected magic byte 0',
    });
  });
});

describe("the source's stored position", () => {
  it('is a Connect-shaped source offset', () => {
    expect(positionKey()).toBe('["jdbc-source-customers",{"table":"customers"}]');
    expect(encodePosition(42)).toBe('{"incrementing":42}');
    expect(decodePosition(Buffer.from(encodePosition(42)))).toBe(42);
    expect(decodePosition(null)).toBeUndefined();
    expect(() => decodePosition(Buffer.from('{"incrementing":"x"}'))).toThrow(/no integer "incrementing"/);
  });
});

describe("the source's dead letters", () => {
  it("carry Connect's error headers, with the row's position as the source offset", () => {
    const error = Object.assign(new Error('customers row 3 is not a valid Customer: firstName = null'), { name: 'InvalidCustomerRow' });
    expect(sourceDeadLetterHeaders('customers', 3, error)).toEqual({
      '__connect.errors.topic': 'customers',
      '__connect.errors.source.partition': '{"table":"customers"}',
      '__connect.errors.source.offset': '{"incrementing":3}',
      '__connect.errors.connector.name': 'jdbc-source-customers',
      '__connect.errors.task.id': '0',
      '__connect.errors.stage': 'VALUE_CONVERTER',
      '__connect.errors.exception.class.name': 'InvalidCustomerRow',
      '__connect.errors.exception.message': 'customers row 3 is not a valid Customer: firstName = null',
    });
  });
});

describe('fencing', () => {
  it("is recognised from the broker's error, also when wrapped", () => {
    const fenced = Object.assign(new Error('Producer attempted an operation with an old epoch'), { apiId: 'INVALID_PRODUCER_EPOCH' });
    expect(isFencedError(fenced)).toBe(true);
    expect(isFencedError(new Error('retries exhausted', { cause: fenced }))).toBe(true);
    // The client gathers the errors of a failed request's attempts in an AggregateError.
    expect(isFencedError(new AggregateError([new Error('timeout'), Object.assign(new Error('fenced'), { apiId: 'PRODUCER_FENCED' })], 'Producing failed.'))).toBe(true);
    expect(isFencedError(Object.assign(new Error('x'), { apiId: 'NOT_LEADER_OR_FOLLOWER' }))).toBe(false);
    expect(isFencedError('INVALID_PRODUCER_EPOCH')).toBe(false);
  });
});
