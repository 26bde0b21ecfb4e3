"""Small helpers for writing a row from a dict, shared by the services' store modules."""
from psycopg.types.json import Jsonb


def insert_sql(table, columns, suffix=""):
    """``INSERT INTO table (columns) VALUES (%(column)s, ...) suffix``."""
    placeholders = ", ".join(f"%({column})s" for column in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) {suffix}".strip()


def row_values(row, columns, json_columns=()):
    """The parameters of ``insert_sql``: missing columns are NULL, JSON ones wrapped."""
    return {column: Jsonb(row.get(column)) if column in json_columns else row.get(column)
            for column in columns}
