"""input tables, imports and customer merges

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 07:27:31.867160
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_merges',
    sa.Column('alias_id', sa.String(), nullable=False),
    sa.Column('customer_id', sa.String(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('matched_value', sa.Text(), nullable=False),
    sa.Column('merged_at', sa.DateTime(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('alias_id', name=op.f('pk_customer_merges'))
    )
    with op.batch_alter_table('customer_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_merges_customer_id'), ['customer_id'], unique=False)

    op.create_table('customers',
    sa.Column('customer_id', sa.String(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('email', sa.Text(), nullable=True),
    sa.Column('phone', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('manager', sa.Text(), nullable=True),
    sa.Column('consent_email', sa.Boolean(), nullable=True),
    sa.Column('consent_sms', sa.Boolean(), nullable=True),
    sa.Column('consent_messenger', sa.Boolean(), nullable=True),
    sa.Column('consent_phone', sa.Boolean(), nullable=True),
    sa.Column('do_not_contact', sa.Boolean(), nullable=True),
    sa.Column('attributes', sa.Text(), nullable=True),
    sa.Column('email_norm', sa.String(), nullable=True),
    sa.Column('phone_norm', sa.String(), nullable=True),
    sa.Column('stub', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customers'))
    )
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customers_email_norm'), ['email_norm'], unique=False)
        batch_op.create_index(batch_op.f('ix_customers_phone_norm'), ['phone_norm'], unique=False)

    op.create_table('feedback',
    sa.Column('feedback_id', sa.String(), nullable=False),
    sa.Column('customer_id', sa.String(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('nps', sa.BigInteger(), nullable=True),
    sa.Column('csat', sa.BigInteger(), nullable=True),
    sa.Column('complaint', sa.Boolean(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('feedback_id', name=op.f('pk_feedback'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_customer_id'), ['customer_id'], unique=False)

    op.create_table('imports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('rows_read', sa.BigInteger(), nullable=False),
    sa.Column('rows_added', sa.BigInteger(), nullable=False),
    sa.Column('rows_already_present', sa.BigInteger(), nullable=False),
    sa.Column('rows_duplicate_in_file', sa.BigInteger(), nullable=False),
    sa.Column('rows_blacklisted', sa.BigInteger(), nullable=False),
    sa.Column('customers_created', sa.BigInteger(), nullable=False),
    sa.Column('customers_merged', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imports'))
    )
    op.create_table('interactions',
    sa.Column('interaction_id', sa.String(), nullable=False),
    sa.Column('customer_id', sa.String(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('direction', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('responded_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('manager', sa.Text(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('interaction_id', name=op.f('pk_interactions'))
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interactions_customer_id'), ['customer_id'], unique=False)

    op.create_table('invoices',
    sa.Column('invoice_id', sa.String(), nullable=False),
    sa.Column('customer_id', sa.String(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('order_id', sa.String(), nullable=True),
    sa.Column('paid_at', sa.DateTime(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('invoice_id', name=op.f('pk_invoices'))
    )
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoices_customer_id'), ['customer_id'], unique=False)

    op.create_table('orders',
    sa.Column('order_id', sa.String(), nullable=False),
    sa.Column('customer_id', sa.String(), nullable=False),
    sa.Column('ordered_at', sa.DateTime(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('discount_amount', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('cost', sa.Numeric(precision=18, scale=4), nullable=True),
    sa.Column('channel', sa.Text(), nullable=True),
    sa.Column('quantity', sa.BigInteger(), nullable=True),
    sa.Column('categories', sa.Text(), nullable=True),
    sa.Column('new_products', sa.BigInteger(), nullable=True),
    sa.Column('addons', sa.Text(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_customer_id'), ['customer_id'], unique=False)

    op.create_table('referrals',
    sa.Column('referral_id', sa.String(), nullable=False),
    sa.Column('referrer_id', sa.String(), nullable=False),
    sa.Column('referee_id', sa.String(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('referral_id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_referee_id'), ['referee_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referrals_referrer_id'), ['referrer_id'], unique=False)

    op.create_table('returns',
    sa.Column('return_id', sa.String(), nullable=False),
    sa.Column('order_id', sa.String(), nullable=False),
    sa.Column('returned_at', sa.DateTime(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('row_hash', sa.String(length=32), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('return_id', name=op.f('pk_returns'))
    )
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_returns_order_id'), ['order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_returns_order_id'))

    op.drop_table('returns')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_referrer_id'))
        batch_op.drop_index(batch_op.f('ix_referrals_referee_id'))

    op.drop_table('referrals')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_customer_id'))

    op.drop_table('orders')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoices_customer_id'))

    op.drop_table('invoices')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interactions_customer_id'))

    op.drop_table('interactions')
    op.drop_table('imports')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_customer_id'))

    op.drop_table('feedback')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_phone_norm'))
        batch_op.drop_index(batch_op.f('ix_customers_email_norm'))

    op.drop_table('customers')
    with op.batch_alter_table('customer_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_merges_customer_id'))

    op.drop_table('customer_merges')
