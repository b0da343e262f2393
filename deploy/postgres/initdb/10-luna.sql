-- Runs once, when the database volume is created (as POSTGRES_USER in POSTGRES_DB = luna).
-- Dagster's run storage and MLflow's store live beside Luna's own database.
CREATE DATABASE dagster;
CREATE DATABASE mlflow;
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE EXTENSION IF NOT EXISTS vector;
