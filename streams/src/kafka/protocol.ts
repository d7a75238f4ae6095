import {
  addOffsetsToTxnV3,
  addOffsetsToTxnV4,
  addPartitionsToTxnV3,
  createAPI,
  endTxnV3,
  endTxnV4,
  fetchV13,
  fetchV14,
  fetchV15,
  fetchV16,
  fetchV17,
  heartbeatV3,
  heartbeatV4,
  initProducerIdV4,
  initProducerIdV5,
  joinGroupV5,
  joinGroupV9,
  leaveGroupV3,
  leaveGroupV5,
  offsetCommitV8,
  offsetCommitV9,
  produceV9,
  produceV10,
  produceV11,
  ProtocolError,
  syncGroupV3,
  syncGroupV5,
  txnOffsetCommitV3,
  txnOffsetCommitV4,
  type API,
  type Reader,
} from '@platformatic/kafka';

/**
 * The Kafka requests the runtime makes itself, at the versions it speaks (newest first; the
 * brokers' ApiVersions decide, see BrokerConnections.choose). They come from the client's
 * protocol layer, with two changes:
 *
 * - Answers are parsed without throwing for errors inside them (a partition that moved, a
 *   coordinator that is loading): the runtime reads each partition's error code and decides
 *   per partition what to retry. Only the request as a whole can fail.
 * - The versions of the transaction protocol version 2 (KIP-890), which the client does not
 *   know yet: Produce 12 and TxnOffsetCommit 5 are the previous versions' formats (the version
 *   number tells the broker that this producer lets its writes and offset commits add their
 *   partitions to the transaction, with no AddPartitionsToTxn or AddOffsetsToTxn round trip);
 *   EndTxn 5 answers with the producer's next epoch, which every transaction now bumps.
 */

interface ProtocolModule<Arguments extends unknown[], Result> {
  api: API<Arguments, Result>;
  createRequest: (...args: Arguments) => unknown;
  parseResponse: (correlationId: number, apiKey: number, apiVersion: number, reader: Reader) => Result;
}

/** The module's request at `version` (default its own), whose answer is returned even when it holds errors. */
function lenient<Arguments extends unknown[], Result>(module: ProtocolModule<Arguments, Result>, version = module.api.version): API<Arguments, Result> {
  return createAPI<Arguments, Result>(
    module.api.key,
    version,
    module.createRequest as (...args: unknown[]) => never,
    (correlationId, apiKey, apiVersion, reader) => {
      try {
        return module.parseResponse(correlationId, apiKey, apiVersion, reader);
      } catch (error) {
        const answer = (error as { response?: Result }).response;
        if (answer !== undefined) return answer;
        throw error;
      }
    },
  );
}

/**
 * One API at several versions, newest first, typed as the newest: the older versions the runtime
 * accepts take the same arguments, or a prefix of them (what they do not know is not sent).
 */
function versions<Arguments extends unknown[], Result>(newest: API<Arguments, Result>, ...older: Array<API<never, unknown>>): ReadonlyArray<API<Arguments, Result>> {
  return [newest, ...(older as unknown as Array<API<Arguments, Result>>)];
}

/** A broker's error code as the error the rest of the runtime recognizes (`errorIds`, `isFencing`...). */
export function protocolError(code: number | string, message?: string | null): ProtocolError {
  return new ProtocolError(code, message ?? null);
}

/** Throws the answer's top-level error, if it has one. */
export function checkErrorCode(answer: { errorCode: number; errorMessage?: string | null }): void {
  if (answer.errorCode !== 0) throw protocolError(answer.errorCode, answer.errorMessage);
}

/** Produce 12 is 11's format, sent by producers that use the transaction protocol version 2. */
export const produceV12 = lenient(produceV11, 12);
export const produceVersions = versions(lenient(produceV11), lenient(produceV10), lenient(produceV9));

export const initProducerIdVersions = versions(lenient(initProducerIdV5), lenient(initProducerIdV4));
export const addPartitionsToTxn = lenient(addPartitionsToTxnV3);
export const addOffsetsToTxnVersions = versions(lenient(addOffsetsToTxnV4), lenient(addOffsetsToTxnV3));
/** TxnOffsetCommit 5 is 4's format (transaction protocol version 2: no AddOffsetsToTxn first). */
export const txnOffsetCommitV5 = lenient(txnOffsetCommitV4, 5);
export const txnOffsetCommitVersions = versions(lenient(txnOffsetCommitV4), lenient(txnOffsetCommitV3));

export interface EndTxnAnswer {
  errorCode: number;
  /** Version 5: the producer id and epoch for the next transaction (-1 when not given). */
  producerId: bigint;
  producerEpoch: number;
}

/**
 * EndTxn 5: the request is version 4's; the answer adds the producer id and epoch the next
 * transaction must use (the coordinator bumps the epoch at the end of every transaction).
 */
export const endTxnV5 = createAPI<Parameters<typeof endTxnV4.createRequest>, EndTxnAnswer>(endTxnV4.api.key, 5, endTxnV4.createRequest, (_correlationId, _apiKey, _apiVersion, reader) => {
  reader.readInt32(); // throttle time
  const errorCode = reader.readInt16();
  const producerId = reader.readInt64();
  const producerEpoch = reader.readInt16();
  reader.readTaggedFields();
  return { errorCode, producerId, producerEpoch };
});
export const endTxnVersions = versions(lenient(endTxnV4), lenient(endTxnV3));

export const fetchVersions = versions(lenient(fetchV17), lenient(fetchV16), lenient(fetchV15), lenient(fetchV14), lenient(fetchV13));

export const joinGroupVersions = versions(lenient(joinGroupV9), lenient(joinGroupV5));
export const syncGroupVersions = versions(lenient(syncGroupV5), lenient(syncGroupV3));
export const heartbeatVersions = versions(lenient(heartbeatV4), lenient(heartbeatV3));
export const leaveGroupVersions = versions(lenient(leaveGroupV5), lenient(leaveGroupV3));
export const offsetCommitVersions = versions(lenient(offsetCommitV9), lenient(offsetCommitV8));
