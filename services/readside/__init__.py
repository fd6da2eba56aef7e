"""The read side: projections of the public events (caseload, client timeline, names) that
staff lists and the programme's follow-up statistics read. It reads only public events."""
