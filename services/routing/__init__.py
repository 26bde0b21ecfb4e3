"""The routing service: the ticket workflow from representative to department and back."""
