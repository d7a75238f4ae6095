-- orders.v1: key = order id (UTF-8 string, KAFKA format); value = Avro Order, whose columns
-- ksqlDB reads from the registry (subject <topic>-value): ID, CUSTOMERID, STATE, PRODUCT, ...
CREATE STREAM IF NOT EXISTS ${ordersStream} (ORDER_KEY VARCHAR KEY)
  WITH (KAFKA_TOPIC='${ordersTopic}', KEY_FORMAT='KAFKA', VALUE_FORMAT='AVRO');
