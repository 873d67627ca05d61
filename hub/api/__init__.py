"""The HTTP API: portal endpoints now; agency callbacks and operator endpoints join here."""
