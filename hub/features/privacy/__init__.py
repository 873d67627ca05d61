"""Citizens' data protection (UU PDP 27/2022): masking, the NIK blind index and the
data subject's processing record. The tamper-evident audit log is ``hub.features.audit``."""

# Cases' personal fields are sealed and opened by mapper events, in every process that
# reads its settings (hub.config imports this package).
from hub.features.privacy import at_rest as at_rest
