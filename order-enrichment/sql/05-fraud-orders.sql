-- The fraud table: orders per customer in 30-second tumbling windows, more than 2 is fraud.
-- Grace and retention are explicit because ksqlDB's defaults differ from the local engine's.
-- Names are the latest non-null ones of the window's orders: pull queries cannot join.
CREATE TABLE IF NOT EXISTS ${fraudTable}
  WITH (KAFKA_TOPIC='${fraudTopic}', KEY_FORMAT='KAFKA', VALUE_FORMAT='AVRO') AS
  SELECT
    CUSTOMERID,
    LATEST_BY_OFFSET(FIRSTNAME) AS FIRSTNAME,
    LATEST_BY_OFFSET(LASTNAME) AS LASTNAME,
    COUNT(*) AS COUNTS
  FROM ${ordersByCustomerStream}
  WINDOW TUMBLING (SIZE 30 SECONDS, RETENTION 1 DAY, GRACE PERIOD 1 HOUR)
  GROUP BY CUSTOMERID
  HAVING COUNT(*) > 2
  EMIT CHANGES;
