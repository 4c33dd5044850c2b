"""The collection: who was asked (the roster), who answered, who is still missing.

`names` compares agency names as clerks type them; `status` matches each return to its roster
row and gives every agency its status; `missing_csv` writes the 催报名单 (OUT/missing.csv);
`attach.attach_collection` is the one call ingest makes.
"""

from __future__ import annotations

