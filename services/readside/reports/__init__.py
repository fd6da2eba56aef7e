"""Reports that name persons (the state's compensation, the national data store): assembled
from the read side's public events and its sealed identities."""
