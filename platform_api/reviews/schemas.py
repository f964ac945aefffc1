"""Review request and response models."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared_models.documents import Review, ReviewReply
from shared_models.enums import ActorRole
from shared_models.text import Written


class ReviewIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"rating": 5, "text": "On time, tidy, fixed it first go."}]}
    )

    rating: int = Field(ge=1, le=5, strict=True)
    text: Written = Field(min_length=1, max_length=2000)


class ReplyIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "Thank you, glad it works again!"}]})

    text: Written = Field(min_length=1, max_length=2000)


class ReviewOut(BaseModel):
    id: str
    request_id: str
    author_id: str
    author_role: ActorRole
    subject_id: str
    rating: int
    text: str
    created_at: datetime
    published: bool
    published_at: datetime | None
    publish_at: datetime = Field(description="Published then at the latest (the review window's end).")
    reply: ReviewReply | None

    @classmethod
    def of(cls, r: Review) -> "ReviewOut":
        return cls(
            id=str(r.id), request_id=r.request_id, author_id=r.author_id, author_role=r.author_role,
            subject_id=r.subject_id, rating=r.rating, text=r.text, created_at=r.created_at,
            published=r.published, published_at=r.published_at, publish_at=r.publish_at, reply=r.reply,
        )  # fmt: skip


class ReviewPage(BaseModel):
    items: list[ReviewOut]
    next_cursor: str | None
