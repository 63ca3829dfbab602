DROP TABLE xcom;
DROP TABLE connection;
DROP TABLE variable;
