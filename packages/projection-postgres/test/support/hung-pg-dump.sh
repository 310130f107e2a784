#!/bin/sh
# Stands in for pg_dump in a backup test: writes its pid to $AZOTH_HUNG_PID_FILE, then hangs
# without writing anything, like a pg_dump whose server stopped answering.
echo $$ > "$AZOTH_HUNG_PID_FILE"
exec sleep 600
