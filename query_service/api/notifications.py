"""The signed-in user's notifications."""

from fastapi import APIRouter

from query_service.api.dependencies import Page, ReadDatabase, next_cursor, posts_for
from query_service.api.schemas import Notification, NotificationPage, UserSummary
from query_service.read_models import notifications
from query_service.read_models.posts import posts_in_order
from query_service.read_models.users import summaries_by_id
from service_kit.auth import CurrentPrincipal
from service_kit.notification_ids import encode_notification_id
from service_kit.problems import problem_responses

router = APIRouter(tags=["notifications"])


@router.get(
    "/notifications",
    summary="Likes, reposts, replies, mentions and follows of you, newest first",
    responses=problem_responses(400, 401),
)
async def list_notifications(
    principal: CurrentPrincipal, page: Page, database: ReadDatabase
) -> NotificationPage:
    mark = await notifications.read_mark(database, principal.user_id)
    found = await notifications.notifications_of(
        database, principal.user_id, page.limit, page.position
    )
    unread = await notifications.unread_count(database, principal.user_id, mark)
    actors = await summaries_by_id(database, [item["actor_id"] for item in found.items])
    post_ids = list(dict.fromkeys(item["post_id"] for item in found.items if item["post_id"]))
    views = await posts_in_order(database, post_ids)
    posts = {post.id: post for post in await posts_for(database, principal, views)}
    items = []
    for item in found.items:
        actor = actors.get(item["actor_id"])
        if actor is None:
            continue  # an account that no longer exists
        position = notifications.position_of(item)
        items.append(
            Notification(
                id=encode_notification_id(position),
                kind=item["kind"],
                actor=UserSummary.model_validate(actor),
                post=posts.get(item["post_id"]) if item["post_id"] else None,
                created_at=item["created_at"],
                read=mark is not None and position <= mark,
            )
        )
    return NotificationPage(
        items=items,
        next_cursor=next_cursor(found),
        unread_count=min(unread, notifications.UNREAD_COUNT_CAP),
        unread_count_capped=unread > notifications.UNREAD_COUNT_CAP,
    )
