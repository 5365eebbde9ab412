from rest_framework import serializers


class ApiKeyIdentityOutput(serializers.Serializer):
    scope = serializers.CharField()
    name = serializers.CharField()
    merchant = serializers.UUIDField(source="merchant.public_id")
    merchant_name = serializers.CharField(source="merchant.name")
    store = serializers.UUIDField(source="terminal.store.public_id", allow_null=True, default=None)
    store_code = serializers.CharField(source="terminal.store.code", allow_null=True, default=None)
    terminal = serializers.UUIDField(source="terminal.public_id", allow_null=True, default=None)
    terminal_code = serializers.CharField(source="terminal.code", allow_null=True, default=None)
