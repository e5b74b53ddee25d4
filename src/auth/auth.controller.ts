import { Body, Controller, Get, Header, HttpCode, HttpStatus, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

import { RateLimit } from '../rate-limit/rate-limit.decorator';
import { Principal } from '../token-state/token-state.types';
import { AuthService } from './auth.service';
import { CurrentPrincipal, Public } from './auth.decorators';
import { Client, ClientInfo } from './client-info.decorator';
import { ChangePasswordDto, LoginDto, RefreshDto, RegisterDto } from './dto/credentials.dto';
import { LogoutDto } from './dto/logout.dto';
import { MeResponseDto, TokenResponseDto, UserResponseDto } from './dto/token-response.dto';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @Post('register')
  @RateLimit('register-address')
  @ApiTooManyRequestsResponse({ description: 'Too many registrations from this address; see Retry-After.' })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiConflictResponse({ description: 'The email is taken.' })
  register(@Body() dto: RegisterDto, @Client() client: ClientInfo): Promise<UserResponseDto> {
    return this.auth.register(dto, client);
  }

  @Public()
  @Post('login')
  @RateLimit('login-address', 'login-account')
  @ApiTooManyRequestsResponse({ description: 'Too many attempts for this account or from this address; see Retry-After.' })
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiUnauthorizedResponse({ description: 'Unknown email or wrong password, with one message for both.' })
  @ApiForbiddenResponse({ description: 'The account is locked.' })
  login(@Body() dto: LoginDto, @Client() client: ClientInfo): Promise<TokenResponseDto> {
    return this.auth.login(dto, client);
  }

  @Public()
  @Post('refresh')
  @RateLimit('refresh-address')
  @ApiTooManyRequestsResponse({ description: 'Too many refreshes from this address; see Retry-After.' })
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiUnauthorizedResponse({ description: 'Invalid, expired, revoked or reused refresh token.' })
  refresh(@Body() dto: RefreshDto, @Client() client: ClientInfo): Promise<TokenResponseDto> {
    return this.auth.refresh(dto.refreshToken, client);
  }

  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiBearerAuth()
  @ApiNoContentResponse({ description: 'The sessions in the scope have ended.' })
  logout(@CurrentPrincipal() principal: Principal, @Body() dto: LogoutDto, @Client() client: ClientInfo): Promise<void> {
    return this.auth.logout(principal, dto.scope ?? 'local', client);
  }

  @Post('password')
  @RateLimit('password-user')
  @ApiTooManyRequestsResponse({ description: 'Too many password changes for this user; see Retry-After.' })
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiBearerAuth()
  @ApiOkResponse({ type: TokenResponseDto, description: 'A new pair for this session; every other session and token has ended.' })
  @ApiForbiddenResponse({ description: 'The current password is incorrect.' })
  changePassword(@CurrentPrincipal() principal: Principal, @Body() dto: ChangePasswordDto, @Client() client: ClientInfo): Promise<TokenResponseDto> {
    return this.auth.changePassword(principal, dto, client);
  }

  @Get('me')
  @ApiBearerAuth()
  @ApiOkResponse({ type: MeResponseDto })
  me(@CurrentPrincipal() principal: Principal): Promise<MeResponseDto> {
    return this.auth.me(principal);
  }
}
