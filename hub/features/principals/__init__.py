"""Principals: portal clients and operators as data, with hashed, rotatable keys."""
