"""The tutorial's ``sigma.utils`` import path: thin re-exports of the core."""
