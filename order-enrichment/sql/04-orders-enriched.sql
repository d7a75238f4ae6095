-- orders-enriched.v1: key = order id; value written with the project's OrderEnriched schema
-- (VALUE_SCHEMA_ID), so its bytes are the ones every other writer of the topic produces.
CREATE STREAM IF NOT EXISTS ${ordersEnrichedStream}
  WITH (KAFKA_TOPIC='${ordersEnrichedTopic}', KEY_FORMAT='KAFKA', VALUE_FORMAT='AVRO', VALUE_SCHEMA_ID=${ordersEnrichedSchemaId}) AS
  SELECT
    ORDERID,
    AS_VALUE(ORDERID) AS `id`,
    CUSTOMERID AS `customerId`,
    CUSTOMERLEVEL AS `customerLevel`
  FROM ${ordersByCustomerStream}
  PARTITION BY ORDERID
  EMIT CHANGES;
