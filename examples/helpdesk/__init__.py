"""The helpdesk example agent: see README.md beside this file."""
