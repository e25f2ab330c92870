"""The domain: plain Python objects for customers, orders and the loyalty programme.

Imports nothing outside the standard library and nothing else from regulars (enforced).
"""
