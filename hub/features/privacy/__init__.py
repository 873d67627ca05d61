"""Citizens' data protection (UU PDP 27/2022): masking, the NIK blind index and the
data subject's processing record. The tamper-evident audit log is ``hub.features.audit``."""
