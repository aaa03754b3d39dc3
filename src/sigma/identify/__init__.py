"""What each phase is: elements present, identification against a phase library, modal
statistics."""
