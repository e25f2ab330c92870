"""loyalty programme: versions, members, lots, ledger, accruals, operations, tiers,
referrals, coupons, punch cards, club, stored value, draws

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('loyalty_accruals',
    sa.Column('order_id', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('ordered_at', sa.DateTime(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('returned_amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('reversed', sa.BigInteger(), nullable=False),
    sa.Column('lot_ref', sa.String(), nullable=False),
    sa.Column('programme_version', sa.Integer(), nullable=False),
    sa.Column('payment_fingerprint', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_loyalty_accruals'))
    )
    with op.batch_alter_table('loyalty_accruals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_accruals_member_id'), ['member_id'], unique=False)

    op.create_table('loyalty_allocations',
    sa.Column('entry_ref', sa.String(), nullable=False),
    sa.Column('lot_ref', sa.String(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('entry_ref', 'lot_ref', name=op.f('pk_loyalty_allocations'))
    )
    op.create_table('loyalty_card_entries',
    sa.Column('ref', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('payment_method', sa.String(), nullable=True),
    sa.Column('original_ref', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('ref', name=op.f('pk_loyalty_card_entries'))
    )
    with op.batch_alter_table('loyalty_card_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_card_entries_member_id'), ['member_id'], unique=False)

    op.create_table('loyalty_club_payments',
    sa.Column('payment_ref', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('paid_at', sa.DateTime(), nullable=False),
    sa.Column('fee', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('payment_ref', name=op.f('pk_loyalty_club_payments'))
    )
    with op.batch_alter_table('loyalty_club_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_club_payments_member_id'), ['member_id'], unique=False)

    op.create_table('loyalty_coupons',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('reward', sa.String(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('percent', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('valid_until', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('used_order_id', sa.String(), nullable=True),
    sa.Column('source_ref', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_loyalty_coupons')),
    sa.UniqueConstraint('source_ref', name=op.f('uq_loyalty_coupons_source_ref'))
    )
    with op.batch_alter_table('loyalty_coupons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_coupons_member_id'), ['member_id'], unique=False)

    op.create_table('loyalty_draws',
    sa.Column('draw_key', sa.String(), nullable=False),
    sa.Column('offer', sa.String(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('eligible', sa.BigInteger(), nullable=False),
    sa.Column('eligible_digest', sa.String(length=64), nullable=False),
    sa.Column('winners', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('draw_key', name=op.f('pk_loyalty_draws'))
    )
    op.create_table('loyalty_ledger',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ref', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('pending', sa.BigInteger(), nullable=False),
    sa.Column('deficit', sa.BigInteger(), nullable=False),
    sa.Column('lot_ref', sa.String(), nullable=True),
    sa.Column('order_id', sa.String(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(), nullable=False),
    sa.Column('programme_version', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loyalty_ledger')),
    sa.UniqueConstraint('ref', name=op.f('uq_loyalty_ledger_ref'))
    )
    with op.batch_alter_table('loyalty_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_ledger_member_id'), ['member_id'], unique=False)

    op.create_table('loyalty_lots',
    sa.Column('lot_ref', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('earned_at', sa.DateTime(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('available_at', sa.DateTime(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('order_id', sa.String(), nullable=True),
    sa.CheckConstraint('remaining >= 0 AND remaining <= points', name='ck_loyalty_lots_remaining'),
    sa.PrimaryKeyConstraint('lot_ref', name=op.f('pk_loyalty_lots'))
    )
    with op.batch_alter_table('loyalty_lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_lots_available_at'), ['available_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_loyalty_lots_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_loyalty_lots_member_id'), ['member_id'], unique=False)

    op.create_table('loyalty_members',
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(), nullable=False),
    sa.Column('consent', sa.Boolean(), nullable=False),
    sa.Column('consent_at', sa.DateTime(), nullable=True),
    sa.Column('email_norm', sa.String(), nullable=True),
    sa.Column('phone_norm', sa.String(), nullable=True),
    sa.Column('payment_fingerprint', sa.String(), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('referral_code', sa.String(length=32), nullable=True),
    sa.Column('referred_by', sa.String(), nullable=True),
    sa.Column('tier', sa.String(), nullable=False),
    sa.Column('tier_period_end', sa.DateTime(), nullable=True),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('pending', sa.BigInteger(), nullable=False),
    sa.Column('debt', sa.BigInteger(), nullable=False),
    sa.Column('deficit', sa.BigInteger(), nullable=False),
    sa.Column('earned_total', sa.BigInteger(), nullable=False),
    sa.Column('club_until', sa.DateTime(), nullable=True),
    sa.Column('stored_value', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_loyalty_members')),
    sa.UniqueConstraint('referral_code', name=op.f('uq_loyalty_members_referral_code'))
    )
    with op.batch_alter_table('loyalty_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_members_email_norm'), ['email_norm'], unique=False)
        batch_op.create_index(batch_op.f('ix_loyalty_members_phone_norm'), ['phone_norm'], unique=False)

    op.create_table('loyalty_operations',
    sa.Column('key', sa.String(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.String(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_loyalty_operations'))
    )
    op.create_table('loyalty_programmes',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('effective_from', sa.DateTime(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_loyalty_programmes'))
    )
    op.create_table('loyalty_punches',
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('card', sa.String(), nullable=False),
    sa.Column('punches', sa.BigInteger(), nullable=False),
    sa.Column('rewards_issued', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('member_id', 'card', name=op.f('pk_loyalty_punches'))
    )
    op.create_table('loyalty_referrals',
    sa.Column('referee_id', sa.String(), nullable=False),
    sa.Column('referrer_id', sa.String(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(), nullable=True),
    sa.Column('order_id', sa.String(), nullable=True),
    sa.Column('settled_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('referee_id', name=op.f('pk_loyalty_referrals'))
    )
    with op.batch_alter_table('loyalty_referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_referrals_referrer_id'), ['referrer_id'], unique=False)

    op.create_table('loyalty_tier_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('from_tier', sa.String(), nullable=True),
    sa.Column('to_tier', sa.String(), nullable=False),
    sa.Column('change', sa.String(length=16), nullable=False),
    sa.Column('qualifying', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loyalty_tier_history'))
    )
    with op.batch_alter_table('loyalty_tier_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loyalty_tier_history_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('loyalty_tier_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_tier_history_member_id'))

    op.drop_table('loyalty_tier_history')
    with op.batch_alter_table('loyalty_referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_referrals_referrer_id'))

    op.drop_table('loyalty_referrals')
    op.drop_table('loyalty_punches')
    op.drop_table('loyalty_programmes')
    op.drop_table('loyalty_operations')
    with op.batch_alter_table('loyalty_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_members_phone_norm'))
        batch_op.drop_index(batch_op.f('ix_loyalty_members_email_norm'))

    op.drop_table('loyalty_members')
    with op.batch_alter_table('loyalty_lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_lots_member_id'))
        batch_op.drop_index(batch_op.f('ix_loyalty_lots_expires_at'))
        batch_op.drop_index(batch_op.f('ix_loyalty_lots_available_at'))

    op.drop_table('loyalty_lots')
    with op.batch_alter_table('loyalty_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_ledger_member_id'))

    op.drop_table('loyalty_ledger')
    op.drop_table('loyalty_draws')
    with op.batch_alter_table('loyalty_coupons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_coupons_member_id'))

    op.drop_table('loyalty_coupons')
    with op.batch_alter_table('loyalty_club_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_club_payments_member_id'))

    op.drop_table('loyalty_club_payments')
    with op.batch_alter_table('loyalty_card_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_card_entries_member_id'))

    op.drop_table('loyalty_card_entries')
    op.drop_table('loyalty_allocations')
    with op.batch_alter_table('loyalty_accruals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loyalty_accruals_member_id'))

    op.drop_table('loyalty_accruals')
