-- CREATED orders LEFT JOIN customers, keyed by customer id. Only the CREATED record of an order
-- counts: its later VALIDATED/FAILED records are the same order again. ksqlDB repartitions the
-- orders by CUSTOMERID (BIGINT, KAFKA format: the same bytes and partitions as the customers key).
-- A missing customer gives null names and the level 'unknown'.
CREATE STREAM IF NOT EXISTS ${ordersByCustomerStream}
  WITH (KAFKA_TOPIC='${ordersByCustomerTopic}', KEY_FORMAT='KAFKA', VALUE_FORMAT='AVRO') AS
  SELECT
    o.CUSTOMERID AS CUSTOMERID,
    o.ID AS ORDERID,
    c.FIRSTNAME AS FIRSTNAME,
    c.LASTNAME AS LASTNAME,
    IFNULL(c.LEVEL, 'unknown') AS CUSTOMERLEVEL
  FROM ${ordersStream} o
    LEFT JOIN ${customersTable} c ON o.CUSTOMERID = c.CUSTOMER_ID
  WHERE o.STATE = 'CREATED'
  EMIT CHANGES;
