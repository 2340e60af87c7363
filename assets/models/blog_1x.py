"""The sample blog (sample-db/blog.sql) in SQLAlchemy 1.x declarative style.

Equivalent to assets/models/blog.toml: same entities in the same order, same
relationships. `loadscope --model assets/models/blog_1x.py` reads it without
running it.
"""

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

# The many-to-many link between posts and tags, as a Table object.
post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", Integer, ForeignKey("posts.id"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tags.id"), primary_key=True),
)


class User(Base):
    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False)
    email = Column(String, nullable=False)
    manager_id = Column(Integer, ForeignKey("users.id"))

    posts = relationship("Post", back_populates="user", order_by="Post.id")
    # Self-referential: remote_side=[id] makes this side many-to-one.
    manager = relationship("User", remote_side=[id], back_populates="reports")
    reports = relationship("User", back_populates="manager", order_by="User.id")


class Post(Base):
    __tablename__ = "posts"

    id = Column(Integer, primary_key=True)
    title = Column(String, nullable=False)
    body = Column(Text, nullable=False)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    # The attribute name may differ from the column's.
    created = Column("created_at", String, nullable=False)

    user = relationship("User", back_populates="posts")
    comments = relationship("Comment", back_populates="post", order_by="Comment.id")
    tags = relationship("Tag", secondary=post_tags, back_populates="posts", order_by="Tag.name")


class Comment(Base):
    __tablename__ = "comments"

    id = Column(Integer, primary_key=True)
    post_id = Column(Integer, ForeignKey("posts.id"), nullable=False)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    body = Column(Text, nullable=False)

    post = relationship("Post", back_populates="comments")
    author = relationship("User")


class Tag(Base):
    __tablename__ = "tags"

    id = Column(Integer, primary_key=True)
    name = Column(String, nullable=False, unique=True)

    posts = relationship("Post", secondary=post_tags, back_populates="tags", order_by="Post.id")
