"""Fake agents for measurement tests: real HTTP apps driven through declarative profiles."""
