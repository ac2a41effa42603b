"""Operations pages for admins: worker health, failed jobs, the outbox, platform compliance."""
