-- A department user's password, as RabbitMQ's salted SHA-256 (never the password), so
-- that the broker definitions generated again keep it: a broker that imports them
-- would otherwise blank the password the department was given.
ALTER TABLE amqp_users ADD COLUMN password_hash text;
