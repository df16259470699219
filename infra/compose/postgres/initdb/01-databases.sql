-- One database per service: no service reads another's tables.
-- Runs once, when the postgres volume is first initialised.
CREATE DATABASE registration;
CREATE DATABASE sessions;
CREATE DATABASE notifications;
CREATE DATABASE insights;
