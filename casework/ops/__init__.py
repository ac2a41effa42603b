"""Operations (surface), for admins: worker health, failed jobs, the outbox, platform
compliance."""
