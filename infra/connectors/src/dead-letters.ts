/**
 * The headers Kafka Connect puts on a dead-letter record (errors.deadletterqueue.context.headers.enable=true):
 * where the record came from (`where`, e.g. topic/partition/offset for a sink), the connector and
 * its task, the stage that refused it and the exception.
 */
export function connectErrorHeaders(connector: string, where: Record<string, string>, stage: string, error: Error): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(where).map(([name, value]) => [`__connect.errors.${name}`, value])),
    '__connect.errors.connector.name': connector,
    '__connect.errors.task.id': '0',
    '__connect.errors.stage': stage,
    '__connect.errors.exception.class.name': error.name,
    '__connect.errors.exception.message': error.message.slice(0, 2_000),
  };
}
