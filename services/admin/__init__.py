"""The admin CLI: migrations, topology, directory loads, API keys, department users."""
