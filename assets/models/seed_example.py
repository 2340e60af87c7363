from sqlalchemy import Column, Integer, String, ForeignKey
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.orm import relationship, dynamic_loader
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

Base = declarative_base()


class User(Base):
    __tablename__ = 'users'

    id = Column(Integer, primary_key=True)
    name = Column(String)
    posts = relationship("Post", 
                         dynamic_loader="joined", 
                         back_populates="user")


class Post(Base):
    __tablename__ = 'posts'

    id = Column(Integer, primary_key=True)
    title = Column(String)
    user_id = Column(Integer, ForeignKey('users.id'))
    user = relationship("User", back_populates="posts")


# Create an engine and session
engine = create_engine('sqlite:///mydatabase.db')
Session = sessionmaker(bind=engine)
session = Session()

# Create the database tables
Base.metadata.create_all(engine)

# Creating users and posts
user = User(name="John")
post1 = Post(title="First Post")
post2 = Post(title="Second Post")
user.posts.append(post1)
user.posts.append(post2)

# Committing the changes to the database
session.add(user)
session.commit()

# Accessing the posts of a user using dynamic relationship loaders
user = session.query(User).filter_by(name="John").first()
print(user.posts)
