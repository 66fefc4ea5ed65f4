"""The read-model collections by name, each beside the one module that writes it.

Modules read each other's collections (timelines hydrate from post_views, user counts come from
follow_edges), so the names live here, free of import cycles; ownership stays with the module.
"""

from typing import Final

USER_VIEWS: Final = "user_views"  # users.py
POST_VIEWS: Final = "post_views"  # posts.py
FOLLOW_EDGES: Final = "follow_edges"  # follows.py
TIMELINE_ENTRIES: Final = "timeline_entries"  # timeline_entries.py (its projection: timelines.py)
BLOCK_EDGES: Final = "block_edges"  # blocks.py
POST_REACTIONS: Final = "post_reactions"  # reactions.py
NOTIFICATIONS: Final = "notifications"  # notifications.py
NOTIFICATION_READ_MARKS: Final = "notification_read_marks"  # notifications.py
USER_SEARCH_KEYS: Final = "user_search_keys"  # search.py
HASHTAG_HOURS: Final = "hashtag_hours"  # hashtags.py
