"""The sample blog (sample-db/blog.sql) in SQLAlchemy 2.0 declarative style.

Equivalent to assets/models/blog.toml: same entities in the same order, same
relationships. `loadscope --model assets/models/blog_20.py` reads it without
running it.
"""

from __future__ import annotations

from typing import Optional

from sqlalchemy import Column, ForeignKey, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


# The many-to-many link between posts and tags; relationships name it as a string.
post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    email: Mapped[str]
    manager_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))

    posts: Mapped[list["Post"]] = relationship(back_populates="user", order_by=lambda: Post.id)
    # Self-referential: remote_side names the referenced column, so this
    # side is many-to-one; the annotation gives the target.
    manager: Mapped[Optional["User"]] = relationship(remote_side=[id], back_populates="reports")
    reports: Mapped[list["User"]] = relationship(back_populates="manager", order_by=id)


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    body: Mapped[str]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[str]

    user: Mapped["User"] = relationship(back_populates="posts")
    comments: Mapped[list["Comment"]] = relationship(back_populates="post", order_by="Comment.id")
    tags: Mapped[list["Tag"]] = relationship(
        secondary="post_tags", back_populates="posts", order_by="Tag.name"
    )


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str]

    post: Mapped["Post"] = relationship(back_populates="comments")
    author: Mapped["User"] = relationship()


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(unique=True)

    posts: Mapped[list["Post"]] = relationship(
        secondary="post_tags", back_populates="tags", order_by="Post.id"
    )
